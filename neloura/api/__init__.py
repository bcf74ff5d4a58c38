"""Thin HTTP routes: validate -> call core/runtime -> serialise."""
