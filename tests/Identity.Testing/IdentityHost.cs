using Dapper;
using NUnit.Framework;
using System.Net.Http.Json;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using ThinkWatch.Contracts.Identity.V1;
using ThinkWatch.Testing;

namespace ThinkWatch.Identity.Testing;

/// <summary>One Identity service on a database of its own, with a clock the test moves.</summary>
public sealed class IdentityHost : IAsyncDisposable
{
    private readonly ServiceHost<IdentityOptions> _host;
    private GrpcChannel? _channel;

    private IdentityHost(InfraEndpoints infra, string database, IReadOnlyDictionary<string, string?>? extra, bool network)
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
                ["ConnectionStrings:rabbitmq"] = infra.RabbitMqUri(),
                ["Vault:Keys:1"] = VaultKey,
                ["InternalAuth:Token"] = InternalToken,
                ["Console:AllowedOrigins:0"] = "https://console.example.com",
            }.With(extra),
            services =>
            {
                services.AddSingleton<TimeProvider>(Time);
                services.AddSingleton<IStartupFilter, ClientIpFromHeader>();
            });
        if (network)
        {
            // Real sockets, for other services' tests: HTTP/1.1 for the console, h2c for gRPC.
            var (httpPort, grpcPort) = (ServiceReadinessTests<IdentityOptions>.ClosedPort(), ServiceReadinessTests<IdentityOptions>.ClosedPort());
            _host.UseKestrel(k =>
            {
                k.Listen(System.Net.IPAddress.Loopback, httpPort, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1);
                k.Listen(System.Net.IPAddress.Loopback, grpcPort, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
            });
            GrpcAddress = new Uri($"http://127.0.0.1:{grpcPort}");
            _httpAddress = new Uri($"http://127.0.0.1:{httpPort}");
        }
        Http = NewClient(allowRedirects: true);
    }

    private readonly Uri? _httpAddress;

    /// <summary>The h2c address of KeyService and ProviderVault when started on the network.</summary>
    public Uri? GrpcAddress { get; }

    public const string SigningKey = TestSecrets.SigningKey;
    public const string VaultKey = "p7Hq2Lx9Wc4Rz8Nb1Vy6Tk3Jm5Gd0Sf2Aa9Ee4Uu";
    public const string InternalToken = TestSecrets.InternalToken;
    /// <summary>The header tests use to say which IP a request comes from (TestServer has none).</summary>
    public const string ClientIpHeader = "X-Test-Client-IP";

    public FakeTimeProvider Time { get; } = TestClock.Create();
    public HttpClient Http { get; }
    public IServiceProvider Services => _host.Services;
    public string ConnectionString { get; }

    /// <summary>A channel as a gateway has it: carrying the internal token.</summary>
    public GrpcChannel Channel => _channel ??= Open(InternalToken);

    /// <summary>A channel carrying <paramref name="token"/> (or none).</summary>
    public GrpcChannel Open(string? token) => GrpcAddress is { } address
        ? GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = new TestSecrets.InternalTokenHandler(token) { InnerHandler = new SocketsHttpHandler() } })
        : GrpcChannel.ForAddress(_host.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = new TestSecrets.InternalTokenHandler(token) { InnerHandler = _host.Server.CreateHandler() } });

    public KeyService.KeyServiceClient Keys => new(Channel);

    public static async Task<IdentityHost> StartAsync(IReadOnlyDictionary<string, string?>? extraSettings = null, bool network = false)
    {
        var infra = await TestInfrastructure.EnsureStartedAsync();
        var host = new IdentityHost(infra, InfraEndpoints.UniqueName("identity"), extraSettings, network)
        {
            RabbitMqUri = extraSettings?.GetValueOrDefault("ConnectionStrings:rabbitmq") ?? infra.RabbitMqUri(),
        };
        var (status, body) = await ServiceHost<IdentityOptions>.WaitForReadyAsync(host.Http, TimeSpan.FromSeconds(60));
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

    public string RabbitMqUri { get; private set; } = "";

    /// <summary>Completes setup with a super admin and returns a client signed in as them.</summary>
    public async Task<HttpClient> SetUpAsync(string email = "root@example.com", string password = "Root-password-1")
    {
        using var setup = await Http.PostAsJsonAsync("/api/setup", new { email, displayName = "Root", password });
        Assert.That(setup.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.Created), await setup.Content.ReadAsStringAsync());
        return await SignInAsync(email, password);
    }

    /// <summary>A user straight into the table (the users API has its own tests), signed in.</summary>
    public async Task<(Guid Id, HttpClient Client)> CreateUserAsync(string role, string? email = null, string password = "User-password-1")
    {
        var id = Guid.CreateVersion7();
        email ??= $"{role}-{id:N}@example.com";
        var hash = new ThinkWatch.Identity.Passwords.PasswordHasher(8192, 1).Hash(password);
        await ExecuteAsync("""
            INSERT INTO users (id, email, display_name, role, password_hash, created_at, updated_at)
            VALUES (@id, @email, @email, @role, @hash, now(), now())
            """, new { id, email, role, hash });
        return (id, await SignInAsync(email, password));
    }

    public async Task<HttpClient> SignInAsync(string email, string password, string ip = "10.0.0.1")
    {
        var client = ClientFrom(ip);
        using var login = await client.PostAsJsonAsync("/api/auth/login", new { email, password });
        Assert.That(login.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK), await login.Content.ReadAsStringAsync());
        var token = (await login.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("accessToken").GetString();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>A client whose requests come from <paramref name="ip"/>.</summary>
    public HttpClient ClientFrom(string ip)
    {
        var client = NewClient(allowRedirects: false);
        client.DefaultRequestHeaders.Add(ClientIpHeader, ip);
        return client;
    }

    /// <summary>In-memory (TestServer) or, on the network, a real client to the HTTP/1.1 port (not the h2c one).</summary>
    private HttpClient NewClient(bool allowRedirects)
    {
        if (_httpAddress is null)
        {
            return _host.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = allowRedirects });
        }
        _ = _host.Services; // starts Kestrel
        return new HttpClient(new HttpClientHandler { AllowAutoRedirect = allowRedirects }) { BaseAddress = _httpAddress };
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
