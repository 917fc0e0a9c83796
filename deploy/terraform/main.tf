# AWS KMS external key store on xksgate over PrivateLink: KMS → VPC endpoint (in AWS's account) → this endpoint
# service → an internal NLB (TCP 443, TLS passes through to xksgate) → xksgate on the hosts in target_ips.
# See docs/deployment/aws-nlb.md "AWS: NLB and PrivateLink" for the order of steps and the hosts' configuration.

data "aws_vpc" "this" {
  id = var.vpc_id
}

# The NLB's security group. PrivateLink traffic from KMS's endpoint is not subject to its inbound rules
# (enforce_security_group_inbound_rules_on_private_link_traffic = off below); other traffic may come from the VPC.
resource "aws_security_group" "nlb" {
  name        = "${var.name}-nlb"
  description = "xksgate NLB: TCP 443 from the VPC; PrivateLink traffic from KMS"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "nlb_https" {
  security_group_id = aws_security_group.nlb.id
  description       = "TLS from the VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = data.aws_vpc.this.cidr_block
}

locals {
  # The two ports the NLB reaches on the hosts: TLS traffic, and the target group's health checks.
  proxy_ports = {
    tls    = var.proxy_port
    health = var.health_port
  }
}

resource "aws_vpc_security_group_egress_rule" "nlb_to_proxy" {
  for_each                     = local.proxy_ports
  security_group_id            = aws_security_group.nlb.id
  description                  = "to xksgate's ${each.key} port"
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
  referenced_security_group_id = aws_security_group.proxy.id
}

# Attach this group to the xksgate hosts. It lets in only the NLB; the hosts' own egress (HSM, Redis) is yours.
resource "aws_security_group" "proxy" {
  name        = "${var.name}-proxy"
  description = "xksgate hosts: the TLS port and the health port from the NLB only"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "proxy_from_nlb" {
  for_each                     = local.proxy_ports
  security_group_id            = aws_security_group.proxy.id
  description                  = "${each.key} port from the NLB"
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
  referenced_security_group_id = aws_security_group.nlb.id
}

resource "aws_lb" "xksgate" {
  name                             = "${var.name}-nlb"
  internal                         = true
  load_balancer_type               = "network"
  subnets                          = var.subnet_ids
  security_groups                  = [aws_security_group.nlb.id]
  enable_cross_zone_load_balancing = true
  # KMS's endpoint reaches the NLB over PrivateLink from addresses this account does not know.
  enforce_security_group_inbound_rules_on_private_link_traffic = "off"
}

# IP targets; health checked on the health port's /readyz, the settings docs/operations.md "Load balancer (NLB)" gives.
resource "aws_lb_target_group" "xksgate" {
  name                 = "${var.name}-tg"
  target_type          = "ip"
  protocol             = "TCP"
  port                 = var.proxy_port
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay
  # A target that fails its health check stops getting new connections; existing ones drain with the proxy.
  connection_termination = false

  health_check {
    protocol            = "HTTP"
    port                = tostring(var.health_port)
    path                = "/readyz"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
}

resource "aws_lb_target_group_attachment" "xksgate" {
  for_each         = toset(var.target_ips)
  target_group_arn = aws_lb_target_group.xksgate.arn
  target_id        = each.value
  port             = var.proxy_port
}

resource "aws_lb_listener" "tls_passthrough" {
  load_balancer_arn = aws_lb.xksgate.arn
  port              = 443
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.xksgate.arn
  }
}

# KMS connects through an endpoint of this service, which it creates in its own account; its principal is the
# only one allowed, and it needs no acceptance.
resource "aws_vpc_endpoint_service" "xksgate" {
  acceptance_required        = false
  network_load_balancer_arns = [aws_lb.xksgate.arn]
  allowed_principals         = ["cks.kms.${var.region}.amazonaws.com"]
  private_dns_name           = var.private_dns_name

  tags = {
    Name = "${var.name}-endpoint-service"
  }
}

# Domain ownership of private_dns_name: the TXT record the endpoint service asks for. AWS verifies it on its own
# schedule, or at once with: aws ec2 start-vpc-endpoint-service-private-dns-verification --service-id ID
resource "aws_route53_record" "private_dns_verification" {
  count   = var.route53_zone_id == null ? 0 : 1
  zone_id = var.route53_zone_id
  name    = "${aws_vpc_endpoint_service.xksgate.private_dns_name_configuration[0].name}.${var.private_dns_name}"
  type    = aws_vpc_endpoint_service.xksgate.private_dns_name_configuration[0].type
  ttl     = 1800
  records = [aws_vpc_endpoint_service.xksgate.private_dns_name_configuration[0].value]
}

# The external key store, connected through the endpoint service. KMS checks the proxy when the key store is
# connected (aws kms connect-custom-key-store), not when it is created.
resource "aws_kms_custom_key_store" "xksgate" {
  count                 = var.create_custom_key_store ? 1 : 0
  custom_key_store_name = var.custom_key_store_name
  custom_key_store_type = "EXTERNAL_KEY_STORE"

  xks_proxy_connectivity              = "VPC_ENDPOINT_SERVICE"
  xks_proxy_uri_endpoint              = "https://${var.private_dns_name}"
  xks_proxy_uri_path                  = var.xks_proxy_uri_path
  xks_proxy_vpc_endpoint_service_name = aws_vpc_endpoint_service.xksgate.service_name

  xks_proxy_authentication_credential {
    access_key_id         = var.xks_access_key_id
    raw_secret_access_key = var.xks_secret_access_key
  }

  depends_on = [aws_route53_record.private_dns_verification, aws_lb_listener.tls_passthrough]
}
