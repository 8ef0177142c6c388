"""Submissions that have broken graders: a tiny course to grade them in, and mutations of a release."""
