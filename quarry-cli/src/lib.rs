//! Management commands for quarry projects, called from the project's own binary the way
//! `manage.py` sees a Django project's models.
//!
//! Nothing is here yet: the commands (migrate, makemigrations, dbshell, ...) arrive with
//! the migrations work. The crate exists so the workspace has the shape DESIGN.md gives.
