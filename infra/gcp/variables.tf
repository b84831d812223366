variable "project" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region of the functions, Redis, the connector and the key ring."
  type        = string
  default     = "europe-west1"
}

variable "name" {
  description = "Prefix of every resource, so several deployments can share a project."
  type        = string
  default     = "coffer"
}

variable "network" {
  description = "VPC network Memorystore and the Serverless VPC connector attach to."
  type        = string
  default     = "default"
}

variable "connector_cidr" {
  description = "Unused /28 range of the network for the Serverless VPC connector."
  type        = string
  default     = "10.8.0.0/28"
}

variable "redis_memory_gb" {
  description = "Memorystore for Redis size."
  type        = number
  default     = 1
}

variable "rotate_schedule" {
  description = "Cloud Scheduler cron of rotateSecret's scheduled run: the safety net that starts recorded rotations whose hand-off was lost, retries failed ones and resumes those whose instance died mid-run (until then, a SingleUser secret's clients may be locked out)."
  type        = string
  default     = "* * * * *"
}

variable "expiry_schedule" {
  description = "Cloud Scheduler cron of expiryCheck's scheduled run."
  type        = string
  default     = "0 * * * *"
}

variable "rotation_targets" {
  description = "COFFER_ROTATION_TARGETS: the CIDRs, host names and *.domain patterns rotations may connect to (databases, SSH hosts). Empty: no rotation may connect anywhere."
  type        = list(string)
  default     = []
}

variable "backup_s3" {
  description = "Optional S3-compatible backup sink for expiryCheck (for Cloud Storage: endpoint https://storage.googleapis.com and an HMAC key). Without it, set COFFER_BACKUP_BEFORE_RELEASE=false in extra_env or releases fail."
  type = object({
    bucket            = string
    endpoint          = string
    region            = string
    access_key_id     = string
    secret_access_key = string
  })
  default   = null
  sensitive = true
}

variable "extra_env" {
  description = "More COFFER_* variables for every function (README, Configuration)."
  type        = map(string)
  default     = {}
}
