namespace Worker.Providers.Anthropic;

/// <summary>
/// Hands the response headers of the current call back to the provider. The SDK turns an error status into an
/// exception that keeps the status and body but drops the headers, and Retry-After and the rate-limit headers are
/// needed on exactly those answers. One handler serves every call of a client, so each call gets its own slot through
/// the async flow (<see cref="AsyncLocal{T}"/>), which concurrent calls do not share.
/// </summary>
internal sealed class ResponseHeaderCapture : DelegatingHandler
{
    private static readonly AsyncLocal<Dictionary<string, string>?> Slot = new();

    /// <summary>
    /// Starts capturing for the calling flow: the headers of the next response sent through this handler from it land in
    /// the returned dictionary (empty until then). Called from an async method, the slot ends with that method.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Begin()
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        Slot.Value = headers;
        return headers;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (Slot.Value is { } headers)
        {
            foreach (var (name, values) in response.Headers)
                headers[name] = string.Join(",", values);
        }

        return response;
    }
}
