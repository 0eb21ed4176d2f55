"""The paper's theory as tools: free multiplicative convolution (Thm 4.3, Prop 4.2) and the
scaling law of ridge regression on HTMP features (Prop 5.1)."""
