using System.Text.Json;

namespace Worker.Providers.Anthropic;

/// <summary>
/// Classifies a Messages API error: an HTTP status with <c>{"type": "error", "error": {"type", "message"}}</c>. The
/// status decides, as for every provider (529 overloaded_error and 500 api_error are server errors, 413
/// request_too_large and 404 not_found_error invalid requests); only billing_error is moved, see <see cref="Read"/>.
/// </summary>
internal static class AnthropicErrors
{
    private const int SnippetLength = 1024;

    /// <param name="header">Looks up one response header by name; null when absent.</param>
    public static ProviderFailure Read(int status, string? body, Func<string, string?> header, DateTimeOffset now, string apiKey)
    {
        var (type, message) = ReadBody(body);

        var errorClass = FailureText.ClassifyStatus(status);
        if (type == "billing_error")
        {
            // No credit left on this account (HTTP 402): another provider can still answer, which InvalidRequest forbids.
            errorClass = ErrorClass.Auth;
        }

        TimeSpan? retryAfter = errorClass == ErrorClass.RateLimited
            ? RetryAfter.FromHeaders(header("retry-after-ms"), header("retry-after"), now)
            : null;

        var what = message ?? Snippet(body);
        var detail = type is { Length: > 0 } ? $"HTTP {status} ({type}): {what}" : $"HTTP {status}: {what}";
        return new ProviderFailure(errorClass, FailureText.Safe(detail, apiKey), status, retryAfter);
    }

    private static (string? Type, string? Message) ReadBody(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
            return default;

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
                return default;
            return (Text(error, "type"), Text(error, "message"));
        }
        catch (JsonException)
        {
            return default;
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Snippet(string? body) =>
        body is null ? "" : body.Length <= SnippetLength ? body : body[..SnippetLength];
}
