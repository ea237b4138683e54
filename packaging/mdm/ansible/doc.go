// Package ansible holds the tests of the Ansible role in roles/avscout
// and the sample playbook.yml: the role is YAML for ansible-playbook, and
// this Go package exists so that `go test ./...` checks it with the real
// Ansible (Debian's ansible-core).
package ansible
