"""faqbot: a career-guide FAQ bot for doctors after the USMLE."""

__version__ = "0.1.0"
