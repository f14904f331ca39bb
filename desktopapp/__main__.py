from desktopapp.cli import main

raise SystemExit(main())
