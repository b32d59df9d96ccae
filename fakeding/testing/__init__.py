"""Helpers to test any robot against the fake from pytest (installed with the kit)."""
