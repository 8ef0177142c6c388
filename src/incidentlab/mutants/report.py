"""The mutation report: per question, mutants, killed, equivalents and each survivor's change to the key."""

from __future__ import annotations

from incidentlab.exercises import load
from incidentlab.mutants.analysis import FAILED, ModuleAnalysis
from incidentlab.mutants.equivalents import Standing, read_equivalents, standing
from incidentlab.mutants.generate import diff


def standings(analysis: ModuleAnalysis) -> list[Standing]:
    declared = read_equivalents(analysis.module, [q.name for q in load(analysis.module)])
    return [standing(q, declared.get(q.question, {})) for q in analysis.questions]


def as_json(analysis: ModuleAnalysis) -> dict:
    by_question = {s.question: s for s in standings(analysis)}
    questions = []
    for q in analysis.questions:
        s = by_question[q.question]
        questions.append({
            "question": q.question,
            "mutants": q.counted,
            "killed": q.killed,
            "failed_to_run": len(q.with_status(FAILED)),
            "equivalent": [{"id": i, "reason": r} for i, r in s.equivalent.items()],
            "survivors": [{"id": m.id, "operator": m.operator, "location": m.location,
                           "diff": diff(q.key_sql, m)} for m in q.survivors if m.id not in s.equivalent],
            "stale_equivalents": s.stale,
            "ok": s.ok,
        })
    return {"module": analysis.module, "seconds": round(analysis.seconds, 1), "questions": questions,
            "ok": all(q["ok"] for q in questions)}


def as_text(analysis: ModuleAnalysis) -> list[str]:
    by_question = {s.question: s for s in standings(analysis)}
    counted = sum(q.counted for q in analysis.questions)
    killed = sum(q.killed for q in analysis.questions)
    width = max((len(q.question) for q in analysis.questions), default=8)
    lines = [f"{analysis.module}: {len(analysis.questions)} question(s), {counted} mutants, {killed} killed "
             f"({_rate(killed, counted)}), in {analysis.seconds:.0f} s"]
    for q in analysis.questions:
        s = by_question[q.question]
        survivors = [m for m in q.survivors if m.id not in s.equivalent]
        mark = "✓" if s.ok else "✗"
        line = (f"  {mark} {q.question:<{width}}  {q.counted:>4} mutants  {q.killed:>4} killed  "
                f"{_rate(q.killed, q.counted):>5}")
        if s.equivalent:
            line += f"  {len(s.equivalent)} equivalent"
        if survivors:
            line += f"  {len(survivors)} survivor(s)"
        lines.append(line)
        for m in survivors:
            lines.append(f"      survivor {m.id}")
            lines += [f"        {change}" for change in diff(q.key_sql, m)]
        lines += [f"      {problem}" for problem in s.problems()[1 if s.undeclared else 0:]]  # survivors: above
    return lines


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"
