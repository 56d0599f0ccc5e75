// Package container has no code: its test checks the repository's
// Dockerfile and .dockerignore (Docker itself is not needed).
package container
