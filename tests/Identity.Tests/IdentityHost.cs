using Dapper;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Testing;

namespace ThinkWatch.Identity.Tests;

/// <summary>One Identity service on a database of its own, with a clock the test moves.</summary>
public sealed class IdentityHost : IAsyncDisposable
{
    private readonly ServiceHost<IdentityOptions> _host;
    private GrpcChannel? _channel;

    private IdentityHost(InfraEndpoints infra, string database)
    {
        ConnectionString = infra.PostgresConnectionString(database);
        _host = new ServiceHost<IdentityOptions>(
            new Dictionary<string, string?>
            {
                ["ConnectionStrings:identitydb"] = ConnectionString,
                // The minimum the options allow: tests hash many passwords.
                ["Identity:PasswordHashMemoryKib"] = "8192",
                ["Identity:PasswordHashIterations"] = "1",
                ["ConsoleAuth:SigningKey"] = SigningKey,
            },
            services =>
            {
                services.AddSingleton<TimeProvider>(Time);
                services.AddSingleton<IStartupFilter, ClientIpFromHeader>();
            });
        Http = _host.CreateClient();
    }

    public const string SigningKey = "Kq3v9Zt1XbR8mN2pLw7YcH5sJd0FgTa4Ue6Vi1Oo";
    /// <summary>The header tests use to say which IP a request comes from (TestServer has none).</summary>
    public const string ClientIpHeader = "X-Test-Client-IP";

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
    public HttpClient Http { get; }
    public string ConnectionString { get; }

    public KeyService.KeyServiceClient Keys =>
        new((_channel ??= GrpcChannel.ForAddress(_host.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = _host.Server.CreateHandler() })));

    public static async Task<IdentityHost> StartAsync()
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        var host = new IdentityHost(infra, InfraEndpoints.UniqueName("identity"));
        var (status, body) = await host._host.WaitForReadyAsync(TimeSpan.FromSeconds(60));
        Assert.That(status, Is.EqualTo(200), body);
        return host;
    }

    /// <summary>Runs SQL in the service's schema, for assertions and for states the API cannot reach yet.</summary>
    public async Task<T> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Search Path=identity");
        return await connection.QuerySingleAsync<T>(sql, parameters);
    }

    public async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Search Path=identity");
        await connection.ExecuteAsync(sql, parameters);
    }

    /// <summary>A client whose requests come from <paramref name="ip"/>.</summary>
    public HttpClient ClientFrom(string ip)
    {
        var client = _host.CreateClient();
        client.DefaultRequestHeaders.Add(ClientIpHeader, ip);
        return client;
    }

    private sealed class ClientIpFromHeader : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (System.Net.IPAddress.TryParse(context.Request.Headers[ClientIpHeader], out var ip))
                {
                    context.Connection.RemoteIpAddress = ip;
                }
                return nextMiddleware(context);
            });
            next(app);
        };
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        Http.Dispose();
        await _host.DisposeAsync();
    }
}
