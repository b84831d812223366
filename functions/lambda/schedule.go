package lambda

import (
	"encoding/json"
	"fmt"
)

// scheduleInput is what serverless.yml's `schedule.input` sends ({"job":"expiryCheck"}), or, for
// a rule without input, the EventBridge envelope ("source":"aws.events", "detail-type":
// "Scheduled Event").
type scheduleInput struct {
	Job        string `json:"job"`
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
}

// scheduledJob tells whether payload asks function name to run its job. A job meant for another
// function is refused, so a misrouted rule cannot start the wrong work.
func scheduledJob(name string, payload json.RawMessage) (bool, error) {
	var in scheduleInput
	if err := json.Unmarshal(payload, &in); err != nil {
		return false, nil
	}
	switch {
	case in.Job == name:
		return true, nil
	case in.Job != "":
		return false, fmt.Errorf("this is %s; the event asks for job %q", name, in.Job)
	case in.Source == "aws.events" && in.DetailType == "Scheduled Event":
		return true, nil
	}
	return false, nil
}
