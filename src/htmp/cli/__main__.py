"""``python -m htmp.cli``: the ``htmp`` command without an installed console script."""
from .app import main

main()
