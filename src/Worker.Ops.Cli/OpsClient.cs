using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Worker.Ops.Cli;

/// <summary>The ops API over HTTP: bearer token, who acts (X-Ops-User), and problem details turned into readable errors.</summary>
public sealed class OpsClient(HttpClient http) : IDisposable
{
    public static OpsClient Create(string workerUrl, string? apiKey, string user)
    {
        var http = new HttpClient { BaseAddress = new Uri(workerUrl.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };
        if (!string.IsNullOrWhiteSpace(apiKey))
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey.Trim());
        http.DefaultRequestHeaders.Add("X-Ops-User", user);
        return new OpsClient(http);
    }

    public bool HasToken => http.DefaultRequestHeaders.Authorization is not null;

    public Task<JsonNode> GetAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, path.TrimStart('/')), cancellationToken);

    public Task<JsonNode> PostAsync(string path, JsonObject body, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path.TrimStart('/')) { Content = JsonContent.Create(body) }, cancellationToken);

    private async Task<JsonNode> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!HasToken)
            throw new OpsException("OPS_API_KEY is not set: export the worker's ops key first (export OPS_API_KEY=...).");

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new OpsException($"cannot reach the worker at {http.BaseAddress} ({e.Message}); set WORKER_URL if it listens elsewhere.");
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonNode? body = null;
            try
            {
                body = text.Length > 0 ? JsonNode.Parse(text) : null;
            }
            catch (System.Text.Json.JsonException)
            {
                // Not JSON: reported as text below.
            }

            if (response.IsSuccessStatusCode && body is not null)
                return body;

            throw new OpsException(Problem((int)response.StatusCode, body, text));
        }
    }

    /// <summary>An RFC 7807 answer as one readable message: title, detail, and each invalid field.</summary>
    private static string Problem(int status, JsonNode? body, string text)
    {
        if (body is not JsonObject problem)
            return $"HTTP {status}: {(text.Length > 0 ? text : "no body")}";

        var lines = new List<string> { $"HTTP {status}: {(string?)problem["title"] ?? "error"}" };
        if ((string?)problem["detail"] is { } detail)
            lines.Add(detail);
        if (problem["errors"] is JsonObject errors)
            lines.AddRange(errors.Select(e => $"  {e.Key}: {string.Join(" ", e.Value!.AsArray().Select(m => (string?)m))}"));
        return string.Join(Environment.NewLine, lines);
    }

    public void Dispose() => http.Dispose();
}

/// <summary>A failure to show the user as it is, without a stack trace.</summary>
public sealed class OpsException(string message) : Exception(message);
