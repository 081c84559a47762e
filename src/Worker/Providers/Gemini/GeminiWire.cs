using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Worker.Providers.Gemini;

// The slice of the generateContent wire format this worker uses (https://ai.google.dev/api/generate-content).
// Unknown fields are ignored, so new response fields never break parsing.

internal sealed class GenerateContentRequest
{
    public required List<Content> Contents { get; init; }

    public Content? SystemInstruction { get; init; }

    public GenerationConfig? GenerationConfig { get; init; }

    public List<Tool>? Tools { get; init; }

    public ToolConfig? ToolConfig { get; init; }
}

/// <summary>One entry of <c>tools</c>; this worker only declares functions.</summary>
internal sealed class Tool
{
    public required List<FunctionDeclaration> FunctionDeclarations { get; init; }
}

internal sealed class FunctionDeclaration
{
    public required string Name { get; init; }

    public string? Description { get; init; }

    /// <summary>A Gemini schema (see <see cref="GeminiSchema"/>); absent for a function without arguments.</summary>
    public JsonObject? Parameters { get; init; }
}

internal sealed class ToolConfig
{
    public required FunctionCallingConfig FunctionCallingConfig { get; init; }
}

internal sealed class FunctionCallingConfig
{
    /// <summary>AUTO, ANY (must call) or NONE.</summary>
    public required string Mode { get; init; }

    /// <summary>With ANY: the functions it may call.</summary>
    public List<string>? AllowedFunctionNames { get; init; }
}

internal sealed class Content
{
    public string? Role { get; init; }

    public List<Part>? Parts { get; init; }
}

internal sealed class Part
{
    public string? Text { get; init; }

    /// <summary>True on thinking-model reasoning summaries, which are not the answer.</summary>
    public bool? Thought { get; init; }

    public FunctionCall? FunctionCall { get; init; }

    public FunctionResponse? FunctionResponse { get; init; }

    /// <summary>
    /// Opaque (base64) reasoning state thinking models attach to a part, mostly the first functionCall of a step; Gemini 3
    /// rejects a replayed function call turn without it.
    /// </summary>
    public string? ThoughtSignature { get; init; }
}

internal sealed class FunctionCall
{
    /// <summary>Sent by newer models; the v1beta API takes it back (Vertex and v1 do not).</summary>
    public string? Id { get; init; }

    public string? Name { get; init; }

    /// <summary>A JSON object; absent for a call without arguments.</summary>
    public JsonElement? Args { get; init; }
}

internal sealed class FunctionResponse
{
    public string? Id { get; init; }

    public required string Name { get; init; }

    /// <summary>Must be a JSON object (a protobuf Struct).</summary>
    public required JsonObject Response { get; init; }
}

internal sealed class GenerationConfig
{
    public int? MaxOutputTokens { get; init; }

    public double? Temperature { get; init; }

    /// <summary><c>application/json</c> for JSON answers; absent for text.</summary>
    public string? ResponseMimeType { get; init; }

    /// <summary>A Gemini schema the JSON answer must follow (with <see cref="ResponseMimeType"/> JSON only).</summary>
    public JsonObject? ResponseSchema { get; init; }
}

internal sealed class GenerateContentResponse
{
    public List<Candidate>? Candidates { get; init; }

    public PromptFeedback? PromptFeedback { get; init; }

    public UsageMetadata? UsageMetadata { get; init; }

    public string? ModelVersion { get; init; }
}

internal sealed class Candidate
{
    public Content? Content { get; init; }

    public string? FinishReason { get; init; }

    public string? FinishMessage { get; init; }
}

internal sealed class PromptFeedback
{
    public string? BlockReason { get; init; }

    public string? BlockReasonMessage { get; init; }
}

internal sealed class UsageMetadata
{
    public int? PromptTokenCount { get; init; }

    public int? CandidatesTokenCount { get; init; }
}

/// <summary>Google's error envelope: <c>{"error": {"code", "message", "status", "details": [...]}}</c>.</summary>
internal sealed class ErrorEnvelope
{
    public ErrorBody? Error { get; init; }
}

internal sealed class ErrorBody
{
    public int? Code { get; init; }

    public string? Message { get; init; }

    public string? Status { get; init; }

    public List<ErrorDetail>? Details { get; init; }
}

/// <summary>One google.rpc detail; only ErrorInfo (reason), RetryInfo (retryDelay) and QuotaFailure (violations) are read.</summary>
internal sealed class ErrorDetail
{
    [JsonPropertyName("@type")]
    public string? Type { get; init; }

    public string? Reason { get; init; }

    public string? RetryDelay { get; init; }

    public List<QuotaViolation>? Violations { get; init; }
}

/// <summary>A QuotaFailure violation, e.g. quotaId <c>GenerateRequestsPerDayPerProjectPerModel-FreeTier</c>.</summary>
internal sealed class QuotaViolation
{
    public string? QuotaId { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GenerateContentRequest))]
[JsonSerializable(typeof(GenerateContentResponse))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class GeminiJsonContext : JsonSerializerContext;
