package templates

// Samples of the engineer-mail templates (see samples in templates_test.go).
func init() {
	help := "#status open|pending|resolved|closed\n#priority 1-4"
	marker := "-- Reply above this line to answer the customer --"
	samples["notify"] = func(string) (full, minimal any) {
		return Notify{
				Case: "HD-000042", Tag: "[#HD-000042]", Subject: "Printer prints blank pages", New: true,
				CustomerName: "Kari Nordmann", CustomerAddr: "kari@customer.example", Kind: "auto-reply",
				Agreement: "Jotron", Priority: 2, State: "new", ResponseBy: "Monday 4 January 2027 10:30 CET",
				HourBank:     &HourBalance{Period: "2026-Q4", Allowance: "15h", Used: "16h30m", Remaining: "0m", Overage: "1h30m"},
				Participants: []string{"kari@customer.example", "ola@customer.example"},
				Text:         "The printer on floor 3 prints blank pages.", Attachments: []string{"photo.jpg"},
				SkippedAttachments: []string{"video.mp4: too large to pass on"}, Marker: marker, CommandHelp: help,
			}, Notify{Case: "HD-000007", Tag: "[#HD-000007]", CustomerAddr: "a@b.example", Kind: "normal",
				Agreement: "none", Priority: 3, State: "open", Marker: marker, CommandHelp: help}
	}
	samples["note"] = func(string) (full, minimal any) {
		return Note{Case: "HD-000042", Tag: "[#HD-000042]", Subject: "Printer", Author: "Ola", Text: "Old firmware.", Marker: marker},
			Note{Case: "HD-000007", Tag: "[#HD-000007]", Author: "Ola", Marker: marker}
	}
	samples["confirm"] = func(string) (full, minimal any) {
		return Confirm{Case: "HD-000042", Tag: "[#HD-000042]", Subject: "Printer", Done: []string{"status pending", "logged 1h30m"},
				State: "pending", Priority: 2, Assignee: "Ola"},
			Confirm{Case: "HD-000007", Tag: "[#HD-000007]", State: "open", Priority: 3}
	}
	samples["command-error"] = func(string) (full, minimal any) {
		return CommandError{Case: "HD-000042", Tag: "[#HD-000042]", Subject: "Printer",
				Errors: []string{`"#priority 7": priority must be 1 (critical) to 4 (low)`}, CommandHelp: help},
			CommandError{Case: "HD-000007", Tag: "[#HD-000007]", CommandHelp: help}
	}
	samples["no-case"] = func(string) (full, minimal any) {
		return NoCase{Subject: "About the printer", CommandHelp: help}, NoCase{CommandHelp: help}
	}
	samples["resolved"] = func(string) (full, minimal any) {
		return Resolved{Case: "HD-000042", Tag: "[#HD-000042]", Subject: "Printer", CustomerName: "Kari", SupportName: "Example Support", ReopenDays: 14},
			Resolved{Case: "HD-000007", Tag: "[#HD-000007]"}
	}
}
