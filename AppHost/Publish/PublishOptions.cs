using System.Security.Cryptography;

namespace ThinkWatch.AppHost.Publish;

public enum PublishTarget { Kubernetes, Compose }
public enum InfraMode { StatefulSet, External }

public sealed record PublishOptions(PublishTarget Target, string Output, string ImageRegistry, string ImageTag, InfraMode Infra, string? Namespace)
{
    /// <summary>From the AppHost's configuration (command line included): --target, --image-registry, --image-tag, --infra, --namespace.</summary>
    public static PublishOptions From(Microsoft.Extensions.Configuration.IConfiguration configuration, string output)
    {
        var target = (configuration["target"] ?? "kubernetes") switch
        {
            "kubernetes" or "k8s" => PublishTarget.Kubernetes,
            "compose" or "docker-compose" => PublishTarget.Compose,
            var other => throw new ArgumentException($"--target must be kubernetes or compose, not '{other}'"),
        };
        var infra = (configuration["infra"] ?? "statefulset") switch
        {
            "statefulset" => InfraMode.StatefulSet,
            "external" => InfraMode.External,
            var other => throw new ArgumentException($"--infra must be statefulset or external, not '{other}'"),
        };
        return new PublishOptions(target, Path.GetFullPath(output), configuration["image-registry"] ?? "thinkwatch",
            configuration["image-tag"] ?? "latest", infra, configuration["namespace"]);
    }

    public string ImageFor(ServiceProject project) => $"{ImageRegistry}/{project.Name}:{ImageTag}";

    /// <summary>Fresh random credentials for infrastructure that the published model runs itself.</summary>
    public static InfraCredentials GenerateCredentials() => new(
        "postgres", RandomSecret(), "thinkwatch", RandomSecret(), RandomSecret(), "default", RandomSecret());

    /// <summary>A fresh value per parameter, the same for every service of one publish.</summary>
    public static Func<SecretParameter, string> GenerateParameters()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        return p => values.TryGetValue(p.Name, out var v) ? v : values[p.Name] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
    }

    private static string RandomSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
}

/// <summary>Inside a cluster or compose network: resources by DNS name, services on their container ports.</summary>
public sealed class ClusterContext(InfraCredentials credentials, Func<SecretParameter, string> parameters) : IDeploymentContext
{
    public string ValueOf(SecretParameter parameter) => parameters(parameter);
    public InfraCredentials Credentials { get; } = credentials;
    public InfraAddress AddressOf(InfraServer server) => new(server.Name, server.ContainerPort);
    public string UrlOf(ServiceProject project, ServiceEndpoint endpoint) => $"http://{project.Name}:{endpoint.TargetPort}";
    public string BindUrlOf(ServiceProject project, ServiceEndpoint endpoint) => $"http://+:{endpoint.TargetPort}";
    /// <summary>Behind an ingress or load balancer whose host name is the operator's choice, not the model's: they set it.</summary>
    public string? PublicUrlOf(ServiceProject project, ServiceEndpoint endpoint) => null;
}
