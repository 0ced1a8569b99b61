import sys

from securebase.cli import main

sys.exit(main())
