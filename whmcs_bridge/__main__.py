"""``python -m whmcs_bridge`` runs the CLI."""

from whmcs_bridge.cli import main

if __name__ == "__main__":
    main()
