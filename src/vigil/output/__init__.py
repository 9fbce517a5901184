"""What vigil shows people and programs: every output format in one place.

``transition`` renders a plan (crm_simulate's layout, JSON, text with each
action's context).
"""
