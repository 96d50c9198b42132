"""Tests of the pages (web/pages/)."""
