"""The eligibility rule base (docs/domain.md §3): facts per claim, rules on durable_rules, due dates.

`facts.derive_facts` reduces a batch to one small facts row per claim or application;
`engine.evaluate` runs the rules (`registry.RULES`, one module per area) once per distinct row;
`deadlines.due_dates` turns the concluded time limits into dates. docs/rules.md describes them.
"""
