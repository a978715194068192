"""Backups of the database and the uploaded files: one verified archive per backup in
BACKUP_DIR (the directory is the truth; no table records them)."""
