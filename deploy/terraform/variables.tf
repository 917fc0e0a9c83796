variable "region" {
  description = "AWS Region of the KMS external key store (the endpoint service is in the same Region)."
  type        = string
}

variable "name" {
  description = "Prefix for the names of every resource."
  type        = string
  default     = "xksgate"
}

variable "vpc_id" {
  description = "VPC of the xksgate hosts."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the load balancer, one per Availability Zone (at least two; KMS recommends three)."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Give subnets in at least two Availability Zones."
  }
}

variable "target_ips" {
  description = "Private IP addresses of the xksgate hosts (the IP target group's targets)."
  type        = list(string)
}

variable "proxy_port" {
  description = "xksgate's TLS port on the hosts (server.port). The listener is always 443: KMS connects to 443 only."
  type        = number
  default     = 443
}

variable "health_port" {
  description = "xksgate's plain-HTTP health port on the hosts (healthPort.port): the target group asks its /readyz."
  type        = number
  default     = 9100
}

variable "deregistration_delay" {
  description = "Seconds the NLB keeps a deregistered target's connections: at least shutdown.graceMs + shutdown.drainMs."
  type        = number
  default     = 35
}

variable "private_dns_name" {
  description = "The proxy's host name (its certificate's name), e.g. xks.example.com: the endpoint service's private DNS name and the key store's URI endpoint."
  type        = string
}

variable "route53_zone_id" {
  description = "Public hosted zone of private_dns_name, for the TXT record that proves domain ownership; null to add it yourself."
  type        = string
  default     = null
}

variable "xks_proxy_uri_path" {
  description = "The key store's URI path: the keyStores[].uriPrefix of xksgate's configuration, e.g. /keystores/payments/kms/xks/v1."
  type        = string
}

variable "xks_access_key_id" {
  description = "SigV4 access key id of the key store: keyStores[].credentials[].accessKeyId."
  type        = string
  sensitive   = true
}

variable "xks_secret_access_key" {
  description = "SigV4 secret of the key store: the secret keyStores[].credentials[].secretAccessKey refers to."
  type        = string
  sensitive   = true
}

variable "custom_key_store_name" {
  description = "Name of the external key store in KMS."
  type        = string
  default     = "xksgate"
}

variable "create_custom_key_store" {
  description = "Create the key store (needs the endpoint service's private DNS name verified first: apply once with false, wait for verification, then true)."
  type        = bool
  default     = false
}
