"""yibao: decide medical insurance claims — eligibility rules, reimbursement, settlement."""

__version__ = "0.1.0"
