"""The rules of the joint case process, pure: processes, legal deadlines, routing, the agreement.

Nothing in this package imports Prefect, a database driver or a network client (a test checks it).
"""
