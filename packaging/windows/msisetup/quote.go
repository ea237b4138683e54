package main

import "strings"

// quote returns an image path with its executable in quotes: the text up
// to and including the first ".exe" followed by a space or the end. An
// already quoted path, or one without ".exe", is returned unchanged.
func quote(image string) (string, bool) {
	if image == "" || strings.HasPrefix(image, `"`) {
		return image, false
	}
	lower := strings.ToLower(image)
	for i := 0; ; {
		j := strings.Index(lower[i:], ".exe")
		if j < 0 {
			return image, false
		}
		end := i + j + len(".exe")
		if end == len(image) || image[end] == ' ' {
			if !strings.Contains(image[:end], " ") {
				return image, false // nothing to misread
			}
			return `"` + image[:end] + `"` + image[end:], true
		}
		i = end
	}
}
