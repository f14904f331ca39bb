"""Documents Raiten prints or exports: the entrance sign, statistics reports."""
