using System.Text.Json;
using Worker.Audit;
using Worker.Contracts;
using Worker.Persistence;

namespace Worker.Requests;

/// <summary>
/// Messages as the audit tables keep them in jsonb: the wire's camelCase JSON, with text cleaned first because jsonb
/// rejects <c>\u0000</c> and lone surrogates (a producer's odd string must never make a row unwritable).
/// </summary>
public static class StoredJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>A request as a replay will send it.</summary>
    public static string Request(CompletionRequested request) => JsonSerializer.Serialize(request with
    {
        ConversationId = AuditText.Clean(request.ConversationId),
        Chain = AuditText.Clean(request.Chain),
        Messages = [.. request.Messages.Select(m => m with
        {
            Role = AuditText.Clean(m.Role)!,
            Content = AuditText.Clean(m.Content),
            ToolCalls = Clean(m.ToolCalls),
            ToolCallId = AuditText.Clean(m.ToolCallId),
        })],
        Metadata = MetadataJson.Clean(request.Metadata),
        Tools = request.Tools?.Select(t => t with
        {
            Name = AuditText.Clean(t.Name)!,
            Description = AuditText.Clean(t.Description),
            Parameters = AuditText.Clean(t.Parameters),
        }).ToList(),
        ToolChoice = request.ToolChoice is { } choice ? choice with { Mode = AuditText.Clean(choice.Mode)!, Name = AuditText.Clean(choice.Name) } : null,
        ResponseFormat = request.ResponseFormat is { } format
            ? format with { Type = AuditText.Clean(format.Type)!, Name = AuditText.Clean(format.Name), Schema = AuditText.Clean(format.Schema) }
            : null,
    }, Options);

    /// <summary>Tool calls with their text cleaned for jsonb; null for none.</summary>
    private static List<ToolCall>? Clean(IReadOnlyList<ToolCall>? calls) => calls?.Select(c => c with
    {
        Id = AuditText.Clean(c.Id)!,
        Name = AuditText.Clean(c.Name)!,
        Arguments = AuditText.Clean(c.Arguments) ?? default,
    }).ToList();

    /// <summary>The request in <paramref name="json"/>, or null when it is not one (no request id, no messages, not JSON).</summary>
    public static CompletionRequested? ReadRequest(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        try
        {
            var request = JsonSerializer.Deserialize<CompletionRequested>(json, Options);
            return request is { Messages: not null } && request.RequestId != Guid.Empty ? request : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A <see cref="CompletionSucceeded"/> or <see cref="CompletionFailed"/> as published.</summary>
    public static string Result(RequestResult result) => result.Match(
        s => JsonSerializer.Serialize(s with
        {
            ConversationId = AuditText.Clean(s.ConversationId),
            Text = AuditText.Clean(s.Text)!,
            Metadata = MetadataJson.Clean(s.Metadata),
            ToolCalls = Clean(s.ToolCalls),
            Json = AuditText.Clean(s.Json),
        }, Options),
        f => JsonSerializer.Serialize(f with
        {
            ConversationId = AuditText.Clean(f.ConversationId),
            Error = AuditText.Clean(f.Error)!,
            Metadata = MetadataJson.Clean(f.Metadata),
        }, Options));

    /// <summary>A routing decision as the requests and deferred_requests rows keep it; null for none.</summary>
    public static string? Route(RouteDecision? route) => route is null ? null : JsonSerializer.Serialize(route with
    {
        Tier = AuditText.Clean(route.Tier)!,
        Candidates = [.. route.Candidates.Select(c => AuditText.Clean(c)!)],
        Reason = AuditText.Clean(route.Reason)!,
    }, Options);

    /// <summary>The routing decision in <paramref name="json"/>; null when there is none or it does not read as one.</summary>
    public static RouteDecision? ReadRoute(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
            return null;
        try
        {
            return JsonSerializer.Deserialize<RouteDecision>(json, Options) is { Tier: not null, Candidates: not null, Reason: not null } route ? route : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The stored result of a row in <paramref name="status"/>; null when there is none (rows written before it was kept).</summary>
    public static RequestResult? ReadResult(string status, string? json) => json is null ? null : status switch
    {
        RequestStatus.Succeeded => WithSource(JsonSerializer.Deserialize<CompletionSucceeded>(json, Options)!),
        RequestStatus.Failed => JsonSerializer.Deserialize<CompletionFailed>(json, Options)!,
        // A parked request's result is its failure, or the degraded answer (a stale cached answer, a template) it was given.
        RequestStatus.Parked => IsSucceeded(json)
            ? WithSource(JsonSerializer.Deserialize<CompletionSucceeded>(json, Options)!)
            : JsonSerializer.Deserialize<CompletionFailed>(json, Options)!,
        _ => null,
    };

    /// <summary>A stored <see cref="CompletionSucceeded"/> has <c>text</c>; a <see cref="CompletionFailed"/> never does.</summary>
    private static bool IsSucceeded(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.TryGetProperty("text", out _);
    }

    /// <summary>
    /// A result stored before <see cref="CompletionSucceeded.Source"/> existed has no such property and gets the parameter's
    /// default; one written as an explicit null (by hand, or by another serializer) is normalized here too, so a
    /// re-published old result always says <c>provider</c>, which is what every stored result was.
    /// </summary>
    private static CompletionSucceeded WithSource(CompletionSucceeded stored) =>
        stored.Source is null ? stored with { Source = ResultSources.Provider } : stored;
}
