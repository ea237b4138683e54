package main

import "strings"

// quote returns the image path with the service executable exe in quotes
// when the path starts with exe unquoted (followed by a space or the end,
// compared case-insensitively as Windows does). Anything else is returned
// unchanged: it is not the image path the MSI wrote.
func quote(image, exe string) (string, bool) {
	if len(image) < len(exe) || !strings.EqualFold(image[:len(exe)], exe) {
		return image, false
	}
	rest := image[len(exe):]
	if rest != "" && rest[0] != ' ' {
		return image, false
	}
	return `"` + image[:len(exe)] + `"` + rest, true
}
