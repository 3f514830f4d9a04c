"""lengow-tui: the order desk of a multichannel e-commerce merchant, in the terminal."""

__version__ = "0.1.0"
