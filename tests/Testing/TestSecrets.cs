namespace ThinkWatch.Testing;

/// <summary>The secrets every in-process service of a test shares (as the AppHost gives one set to all).</summary>
public static class TestSecrets
{
    public const string SigningKey = "Kq3v9Zt1XbR8mN2pLw7YcH5sJd0FgTa4Ue6Vi1Oo";
    public const string InternalToken = "Xw3Nc8Rt1Lp5Vb9Qm2Hk6Jd4Fs7Ga0Zy3Ue8Io1";

    /// <summary>Adds the internal token to every call, as a service's gRPC client does.</summary>
    public sealed class InternalTokenHandler(string? token = InternalToken) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (token is not null)
            {
                request.Headers.Add(ThinkWatch.Security.InternalAuthOptions.Header, token);
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}
