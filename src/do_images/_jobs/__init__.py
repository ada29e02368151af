"""The long-running jobs, composed from one toolkit (``_toolkit``): fleets, cut by
concern as Terraform cuts them (the file, the rule and plan, the apply engine)."""
