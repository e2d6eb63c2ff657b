"""Screening: the TPS/CTPS register and the suppression list, checked per chunk offline."""
