"""`make demo`: the five colleges of the Central Referral System, live on a board."""
