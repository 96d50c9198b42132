"""Tests of the JSON routes (web/api/)."""
