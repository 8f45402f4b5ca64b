"""The web app's package: the page (`app`), its state (`state`), HTML (`render`), look (`assets`).

An interface over the library, like `qa.cli`: nothing in `qa`'s pipeline imports it.
"""
