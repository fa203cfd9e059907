"""``python -m ref`` == ``codecref``."""

from ref.cli import main

if __name__ == "__main__":
    main()
