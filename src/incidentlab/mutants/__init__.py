"""Mutation analysis of the answer keys: is every plausible wrong answer told apart from the key by the data?

Each key (``grading/<module>/answer_key/<question>.sql``) is parsed with sqlglot and changed one small step at a
time, the way a student's answer goes wrong (``operators``): a comparison, a join, a condition, an aggregate, a
column, a literal, a recursion cut short, a value typed in. Each changed query, a mutant, runs on the question's
warehouse and on every variant of it (``analysis``); it is killed when its result differs from the key's on at
least one, by the judge's own comparison. A survivor is either a gap in the data (a variant should break it) or a
query that means the same as the key, declared in ``grading/<module>/equivalent_mutants.toml`` (``equivalents``).
"""
