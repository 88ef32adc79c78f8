package sandbox

import (
	"github.com/nightshift-ops/nightshift/engine"
)

const baseRetailStore = "retail-store"

// Identity of the simulated account and cluster.
const (
	retailAccount = "111122223333"
	retailRegion  = "us-east-1"
	retailCluster = "retail"
)

// Well-known ids of the retail-store base, for tests and scenario authors.
const (
	idALB         = "aws/elbv2/retail-alb"
	idUI          = "eks/retail/ui/deployment/ui"
	idCatalog     = "eks/retail/catalog/deployment/catalog"
	idCart        = "eks/retail/cart/deployment/cart"
	idCheckout    = "eks/retail/checkout/deployment/checkout"
	idOrders      = "eks/retail/orders/deployment/orders"
	idCatalogDB   = "aws/rds/catalog-db"
	idOrdersDB    = "aws/rds/orders-db"
	idCartsTable  = "aws/dynamodb/carts"
	idRedis       = "aws/elasticache/checkout-redis"
	idOrdersQueue = "aws/sqs/orders-events"
	idAPI         = "aws/apigateway/retail-api"
	idCartSync    = "aws/lambda/cart-sync"
	idCartQueue   = "aws/sqs/cart-events"
	idCluster     = "aws/eks/retail"
)

// Worker nodes of the EKS cluster.
var retailNodes = []struct {
	name, instance, zone string
}{
	{"ip-10-0-1-23.ec2.internal", "i-0a4f1c2e9b7d3e501", "us-east-1a"},
	{"ip-10-0-2-47.ec2.internal", "i-0b8e2d3f1a6c4f702", "us-east-1b"},
	{"ip-10-0-3-81.ec2.internal", "i-0c7d3e4a2b5f6a903", "us-east-1c"},
}

// A service of the store: a Kubernetes deployment with two pods.
type retailService struct {
	name      string
	lang      string // for the image and labels; runtimes differ per service
	version   string
	cpuReq    string
	cpuLim    string
	memReq    string
	memLim    string
	port      int
	pods      [2]string // pod name suffixes
	nodes     [2]int    // index into retailNodes
	dependsOn []string
	env       map[string]any
}

var retailServices = []retailService{
	{name: "ui", lang: "java", version: "1.8.2", cpuReq: "250m", cpuLim: "1000m", memReq: "768Mi", memLim: "1Gi", port: 8080,
		pods: [2]string{"7c9d8f6b5-h2xkq", "7c9d8f6b5-p8wzt"}, nodes: [2]int{0, 1},
		dependsOn: []string{idCatalog, idCart, idCheckout, idOrders},
		env: map[string]any{"RETAIL_UI_ENDPOINTS_CATALOG": "http://catalog.catalog.svc:80", "RETAIL_UI_ENDPOINTS_CARTS": "http://cart.cart.svc:80",
			"RETAIL_UI_ENDPOINTS_CHECKOUT": "http://checkout.checkout.svc:80", "RETAIL_UI_ENDPOINTS_ORDERS": "http://orders.orders.svc:80"}},
	{name: "catalog", lang: "go", version: "2.13.4", cpuReq: "250m", cpuLim: "1000m", memReq: "256Mi", memLim: "512Mi", port: 8080,
		pods: [2]string{"6d8f7b9c4-2xkqp", "6d8f7b9c4-9mfrt"}, nodes: [2]int{0, 2},
		dependsOn: []string{idCatalogDB},
		env:       map[string]any{"RETAIL_CATALOG_PERSISTENCE_PROVIDER": "mysql", "RETAIL_CATALOG_PERSISTENCE_ENDPOINT": "catalog-db.cluster-c9x2k4.us-east-1.rds.amazonaws.com:3306", "RETAIL_CATALOG_PERSISTENCE_DB_NAME": "catalog"}},
	{name: "cart", lang: "java", version: "1.4.0", cpuReq: "500m", cpuLim: "1500m", memReq: "768Mi", memLim: "1Gi", port: 8080,
		pods: [2]string{"5b7c9d8f6-4jtqs", "5b7c9d8f6-x7vlm"}, nodes: [2]int{1, 2},
		dependsOn: []string{idCartsTable},
		env:       map[string]any{"RETAIL_CART_PERSISTENCE_PROVIDER": "dynamodb", "RETAIL_CART_PERSISTENCE_DYNAMODB_TABLE_NAME": "carts"}},
	{name: "checkout", lang: "nodejs", version: "1.8.3", cpuReq: "250m", cpuLim: "1000m", memReq: "256Mi", memLim: "512Mi", port: 8080,
		pods: [2]string{"8f6d5c4b7-kq2nw", "8f6d5c4b7-r5tzj"}, nodes: [2]int{0, 1},
		dependsOn: []string{idOrders, idRedis},
		env:       map[string]any{"RETAIL_CHECKOUT_PERSISTENCE_PROVIDER": "redis", "RETAIL_CHECKOUT_PERSISTENCE_REDIS_URL": "redis://checkout-redis.x7k2pq.ng.0001.use1.cache.amazonaws.com:6379", "RETAIL_CHECKOUT_ENDPOINTS_ORDERS": "http://orders.orders.svc:80"}},
	{name: "orders", lang: "java", version: "3.3.2", cpuReq: "500m", cpuLim: "2000m", memReq: "768Mi", memLim: "1Gi", port: 8080,
		pods: [2]string{"9d7b6c5f4-c3mhd", "9d7b6c5f4-v6pgx"}, nodes: [2]int{1, 2},
		dependsOn: []string{idOrdersDB, idOrdersQueue},
		env: map[string]any{"RETAIL_ORDERS_PERSISTENCE_PROVIDER": "postgres", "RETAIL_ORDERS_PERSISTENCE_ENDPOINT": "orders-db.c9x2k4.us-east-1.rds.amazonaws.com:5432",
			"RETAIL_ORDERS_MESSAGING_PROVIDER": "sqs", "RETAIL_ORDERS_MESSAGING_SQS_TOPIC": "orders-events", "SPRING_DATASOURCE_HIKARI_MAXIMUM_POOL_SIZE": "20"}},
}

func awsLabels(service string, extra map[string]string) map[string]string {
	l := map[string]string{"region": retailRegion, "account": retailAccount}
	if service != "" {
		l["service"] = service
	}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

// retailStore returns the resources of the built-in "retail-store" topology,
// freshly allocated: callers may keep and change them.
func retailStore() []engine.ResourceInfo {
	var out []engine.ResourceInfo
	add := func(r engine.ResourceInfo) { out = append(out, r) }

	add(engine.ResourceInfo{ID: idCluster, Type: "aws.eks.cluster", Name: retailCluster,
		Labels: awsLabels("", map[string]string{"cluster": retailCluster}),
		Spec: map[string]any{"kubernetes_version": "1.31", "platform_version": "eks.12", "endpoint_access": "private",
			"arn": "arn:aws:eks:us-east-1:111122223333:cluster/retail", "node_groups": []any{"retail-general-m5xl"}}})

	for _, n := range retailNodes {
		add(engine.ResourceInfo{ID: "eks/retail/node/" + n.name, Type: "k8s.node", Name: n.name,
			Labels: awsLabels("", map[string]string{"cluster": retailCluster, "zone": n.zone, "instance_id": n.instance,
				"node.kubernetes.io/instance-type": "m5.xlarge", "eks.amazonaws.com/nodegroup": "retail-general-m5xl"}),
			Spec: map[string]any{"instance_id": n.instance, "instance_type": "m5.xlarge", "zone": n.zone,
				"capacity":        map[string]any{"cpu": "4", "memory": "15896Mi", "pods": int64(58), "ephemeral-storage": "80Gi"},
				"allocatable":     map[string]any{"cpu": "3920m", "memory": "14850Mi", "pods": int64(58), "ephemeral-storage": "73Gi"},
				"kubelet_version": "v1.31.4-eks-aeac579", "os_image": "Amazon Linux 2023", "container_runtime": "containerd://1.7.23"}})
	}

	add(engine.ResourceInfo{ID: idALB, Type: "aws.elbv2.loadbalancer", Name: "retail-alb",
		Labels:    awsLabels("ui", nil),
		DependsOn: []string{idUI},
		Spec: map[string]any{"arn": "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/retail-alb/5f2c1e8b9a7d3c41",
			"scheme": "internet-facing", "type": "application", "dns_name": "retail-alb-1849022731.us-east-1.elb.amazonaws.com",
			"listeners":            []any{map[string]any{"port": int64(443), "protocol": "HTTPS", "certificate": "arn:aws:acm:us-east-1:111122223333:certificate/3b1d9c6e-8a4f-4e2b-9f7a-2c5d8e1f0a6b"}},
			"target_groups":        []any{map[string]any{"name": "k8s-ui-ui-7f3e2a91", "target_type": "ip", "port": int64(8080), "health_check": "/actuator/health"}},
			"idle_timeout_seconds": int64(60)}})

	for _, s := range retailServices {
		depID := "eks/retail/" + s.name + "/deployment/" + s.name
		labels := awsLabels(s.name, map[string]string{"namespace": s.name, "cluster": retailCluster, "app.kubernetes.io/name": s.name})
		container := map[string]any{
			"name":  s.name,
			"image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/retail-store/" + s.name + ":" + s.version,
			"ports": []any{int64(s.port)}, "cpu_request": s.cpuReq, "cpu_limit": s.cpuLim,
			"memory_request": s.memReq, "memory_limit": s.memLim, "env": s.env,
			"liveness_probe": map[string]any{"http_get": "/health", "period_seconds": int64(10), "failure_threshold": int64(3)},
		}
		var podIDs []string
		for _, suffix := range s.pods {
			podIDs = append(podIDs, "eks/retail/"+s.name+"/pod/"+s.name+"-"+suffix)
		}
		deps := append(append([]string(nil), s.dependsOn...), podIDs...)
		add(engine.ResourceInfo{ID: depID, Type: "k8s.deployment", Name: s.name,
			Labels:    labels,
			DependsOn: deps,
			Spec: map[string]any{"namespace": s.name, "replicas": int64(2), "strategy": "RollingUpdate",
				"service_account": s.name, "runtime": s.lang, "version": s.version,
				"containers": []any{container}}})
		for i, suffix := range s.pods {
			node := retailNodes[s.nodes[i]]
			podName := s.name + "-" + suffix
			add(engine.ResourceInfo{ID: podIDs[i], Type: "k8s.pod", Name: podName,
				Labels: awsLabels(s.name, map[string]string{"namespace": s.name, "cluster": retailCluster,
					"node": node.name, "pod": podName, "app.kubernetes.io/name": s.name, "zone": node.zone}),
				DependsOn: []string{"eks/retail/node/" + node.name},
				Spec: map[string]any{"node_name": node.name, "phase": "Running", "qos_class": "Burstable",
					"owner": "ReplicaSet/" + s.name + "-" + suffix[:9],
					"containers": []any{map[string]any{"name": s.name, "image": container["image"],
						"cpu_request": s.cpuReq, "cpu_limit": s.cpuLim, "memory_request": s.memReq, "memory_limit": s.memLim}}}})
		}
	}

	add(engine.ResourceInfo{ID: idCatalogDB, Type: "aws.rds.instance", Name: "catalog-db",
		Labels:    awsLabels("catalog", map[string]string{"engine": "mysql"}),
		DependsOn: []string{"aws/ec2/security-group/sg-04c2d9e8a1b7f3c50"},
		Spec: map[string]any{"engine": "mysql", "engine_version": "8.0.39", "instance_class": "db.r6g.large",
			"allocated_storage_gib": int64(100), "storage_type": "gp3", "iops": int64(3000), "multi_az": true,
			"endpoint":        "catalog-db.cluster-c9x2k4.us-east-1.rds.amazonaws.com:3306",
			"parameter_group": "catalog-mysql80", "max_connections": int64(1000),
			"ca_certificate_identifier": "rds-ca-rsa2048-g1", "require_secure_transport": true,
			"vpc_security_groups": []any{"sg-04c2d9e8a1b7f3c50"}, "backup_retention_days": int64(7)}})
	add(engine.ResourceInfo{ID: idOrdersDB, Type: "aws.rds.instance", Name: "orders-db",
		Labels:    awsLabels("orders", map[string]string{"engine": "postgres"}),
		DependsOn: []string{"aws/ec2/security-group/sg-0f1a2b3c4d5e6f708"},
		Spec: map[string]any{"engine": "postgres", "engine_version": "16.4", "instance_class": "db.r6g.large",
			"allocated_storage_gib": int64(200), "max_allocated_storage_gib": nil, "storage_type": "gp2",
			"multi_az": true, "endpoint": "orders-db.c9x2k4.us-east-1.rds.amazonaws.com:5432",
			"parameter_group": "orders-postgres16", "max_connections": int64(400),
			"ca_certificate_identifier": "rds-ca-rsa2048-g1",
			"vpc_security_groups":       []any{"sg-0f1a2b3c4d5e6f708"}, "performance_insights": true}})
	add(engine.ResourceInfo{ID: idCartsTable, Type: "aws.dynamodb.table", Name: "carts",
		Labels:    awsLabels("cart", nil),
		DependsOn: []string{idCartQueue},
		Spec: map[string]any{"arn": "arn:aws:dynamodb:us-east-1:111122223333:table/carts",
			"billing_mode": "PROVISIONED", "read_capacity_units": int64(400), "write_capacity_units": int64(200),
			"autoscaling": map[string]any{"write_min": int64(200), "write_max": int64(1200), "target_utilization_percent": int64(70)},
			"key_schema":  []any{"customerId (HASH)", "itemId (RANGE)"}, "global_secondary_indexes": []any{"idx_global_customerId"},
			"stream": "NEW_AND_OLD_IMAGES", "stream_target": "aws/sqs/cart-events (EventBridge Pipe cart-events-pipe)"}})
	add(engine.ResourceInfo{ID: idRedis, Type: "aws.elasticache.replicationgroup", Name: "checkout-redis",
		Labels:    awsLabels("checkout", map[string]string{"engine": "redis"}),
		DependsOn: []string{"aws/ec2/security-group/sg-0b7e5c1a9d3f24e61"},
		Spec: map[string]any{"engine": "redis", "engine_version": "7.1", "node_type": "cache.r6g.large",
			"num_node_groups": int64(1), "replicas_per_node_group": int64(1), "port": int64(6379),
			"primary_endpoint":   "checkout-redis.x7k2pq.ng.0001.use1.cache.amazonaws.com:6379",
			"transit_encryption": false, "security_groups": []any{"sg-0b7e5c1a9d3f24e61"}, "maxmemory_policy": "volatile-lru"}})
	add(engine.ResourceInfo{ID: idOrdersQueue, Type: "aws.sqs.queue", Name: "orders-events",
		Labels: awsLabels("orders", nil),
		Spec: map[string]any{"url": "https://sqs.us-east-1.amazonaws.com/111122223333/orders-events", "fifo": false,
			"visibility_timeout_seconds": int64(30), "message_retention_seconds": int64(345600),
			"redrive_policy": map[string]any{"dead_letter_queue": "orders-events-dlq", "max_receive_count": int64(5)}}})
	add(engine.ResourceInfo{ID: idAPI, Type: "aws.apigateway.restapi", Name: "retail-api",
		Labels:    awsLabels("cart", nil),
		DependsOn: []string{idCartSync},
		Spec: map[string]any{"api_id": "k3j9x2m1qa", "stage": "prod", "endpoint_type": "REGIONAL",
			"routes":         []any{"POST /v1/carts/{customerId}/sync -> lambda cart-sync"},
			"throttle_burst": int64(5000), "throttle_rate": int64(10000)}})
	add(engine.ResourceInfo{ID: idCartSync, Type: "aws.lambda.function", Name: "cart-sync",
		Labels:    awsLabels("cart", nil),
		DependsOn: []string{idCartsTable},
		Spec: map[string]any{"arn": "arn:aws:lambda:us-east-1:111122223333:function:cart-sync",
			"runtime": "python3.12", "handler": "cart_sync.handler", "memory_mb": int64(512), "timeout_seconds": int64(10),
			"version": "41", "alias": "live", "reserved_concurrency": nil,
			"environment": map[string]any{"CARTS_TABLE": "carts", "WRITE_MODE": "batch"}}})
	add(engine.ResourceInfo{ID: idCartQueue, Type: "aws.sqs.queue", Name: "cart-events",
		Labels: awsLabels("cart", nil),
		Spec: map[string]any{"url": "https://sqs.us-east-1.amazonaws.com/111122223333/cart-events", "fifo": false,
			"visibility_timeout_seconds": int64(60), "source": "DynamoDB stream of carts via EventBridge Pipe cart-events-pipe"}})

	for _, sg := range []struct{ id, name, service, rule string }{
		{"sg-04c2d9e8a1b7f3c50", "catalog-db", "catalog", "tcp/3306 from sg-0e9d8c7b6a5f4e321 (eks-nodes)"},
		{"sg-0f1a2b3c4d5e6f708", "orders-db", "orders", "tcp/5432 from sg-0e9d8c7b6a5f4e321 (eks-nodes)"},
		{"sg-0b7e5c1a9d3f24e61", "checkout-redis", "checkout", "tcp/6379 from sg-0e9d8c7b6a5f4e321 (eks-nodes)"},
	} {
		add(engine.ResourceInfo{ID: "aws/ec2/security-group/" + sg.id, Type: "aws.ec2.securitygroup", Name: sg.name,
			Labels: awsLabels(sg.service, nil),
			Spec: map[string]any{"group_id": sg.id, "vpc_id": "vpc-0d1e2f3a4b5c6d7e8", "description": sg.name + " access",
				"ingress": []any{sg.rule}, "egress": []any{"all traffic to 0.0.0.0/0"}}})
	}
	return out
}
