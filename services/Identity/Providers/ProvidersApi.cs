using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Identity.Admin;
using ThinkWatch.Integrations;
using ThinkWatch.Security;

namespace ThinkWatch.Identity.Providers;

public static class ProvidersApi
{
    public static RouteGroupBuilder MapProvidersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/providers").WithTags("Providers");
        group.MapGet("/", async (ProviderManagement m, CancellationToken ct) => TypedResults.Ok(await m.ListAsync(ct))).RequirePermission(Permissions.ProvidersRead);
        group.MapGet("/{id:guid}", async (Guid id, ProviderManagement m, CancellationToken ct) =>
            OutcomeResults.Map(await m.GetAsync(id, ct))).RequirePermission(Permissions.ProvidersRead);
        group.MapPost("/", async (CreateProviderRequest request, ProviderManagement m, HttpContext http, CancellationToken ct) =>
            OutcomeResults.Created(await m.CreateAsync(Actor.From(http), request, ct), p => $"/api/providers/{p.Id}")).RequirePermission(Permissions.ProvidersManage);
        group.MapPatch("/{id:guid}", async (Guid id, UpdateProviderRequest request, ProviderManagement m, HttpContext http, CancellationToken ct) =>
            OutcomeResults.Map(await m.UpdateAsync(Actor.From(http), id, request, ct))).RequirePermission(Permissions.ProvidersManage);
        group.MapDelete("/{id:guid}", async (Guid id, ProviderManagement m, HttpContext http, CancellationToken ct) =>
            OutcomeResults.Map(await m.DeleteAsync(Actor.From(http), id, ct))).RequirePermission(Permissions.ProvidersManage);
        return group;
    }
}

/// <summary>The one place decrypted credentials leave Identity: internal gRPC to the gateways.</summary>
public sealed class ProviderVaultGrpcService(ProviderManagement providers) : ProviderVault.ProviderVaultBase
{
    public override async Task<ListProvidersResponse> ListProviders(ListProvidersRequest request, ServerCallContext context)
    {
        var response = new ListProvidersResponse();
        foreach (var (row, credentials) in await providers.OpenAllAsync(context.CancellationToken))
        {
            var provider = new Provider
            {
                Id = row.Id.ToString(), Name = row.Name, Kind = row.Kind, BaseUrl = row.BaseUrl ?? "",
                UpdatedAt = Timestamp.FromDateTimeOffset(row.UpdatedAt.AsUtc()),
                Credentials = new ProviderCredentials
                {
                    ApiKey = credentials.ApiKey ?? "", AccessKeyId = credentials.AccessKeyId ?? "",
                    SecretAccessKey = credentials.SecretAccessKey ?? "", SessionToken = credentials.SessionToken ?? "",
                },
            };
            foreach (var (key, value) in System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(row.Settings)!)
            {
                provider.Settings[key] = value;
            }
            response.Providers.Add(provider);
        }
        return response;
    }
}
