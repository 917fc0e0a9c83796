output "nlb_dns_name" {
  description = "The NLB's own DNS name (inside the VPC)."
  value       = aws_lb.xksgate.dns_name
}

output "endpoint_service_name" {
  description = "The VPC endpoint service name KMS connects to (XksProxyVpcEndpointServiceName)."
  value       = aws_vpc_endpoint_service.xksgate.service_name
}

output "private_dns_verification" {
  description = "The TXT record that proves ownership of private_dns_name (added for you when route53_zone_id is set)."
  value       = aws_vpc_endpoint_service.xksgate.private_dns_name_configuration
}

output "proxy_security_group_id" {
  description = "Attach this security group to the xksgate hosts."
  value       = aws_security_group.proxy.id
}

output "custom_key_store_id" {
  description = "The external key store's id, once created (create_custom_key_store = true)."
  value       = one(aws_kms_custom_key_store.xksgate[*].id)
}
