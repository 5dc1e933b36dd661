"""bed-display: the lobby board — a live, bilingual, honest bed-vacancy board.

The parts, each usable alone: :mod:`display.config` (the config file),
:mod:`display.board` (the pure model: ward states in, tiles out),
:mod:`display.layout` (pure geometry), :mod:`display.fonts` and
:mod:`display.text` (Bengali and Latin text), :mod:`display.tile` and
:mod:`display.render` (drawing), :mod:`display.feed` (broker messages in),
:mod:`display.screen` (the monitor) and :mod:`display.app` (the loop).
"""
