"""Which Python interpreters exist here, who they are, and how scripts/setup-interpreters provisions them.

Imports nothing: scripts/setup-interpreters loads this package's stdlib-only
modules (wanted, discovery, provision) before gilcore is built.
"""
