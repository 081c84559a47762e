using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using Worker.Simulator.Calls;
using Worker.Simulator.Faults;

namespace Worker.Simulator.Gemini;

/// <summary>Google Gemini v1beta: <c>POST /{target}/v1beta/models/{model}:generateContent</c> and the models list.</summary>
internal static class GeminiApi
{
    public const string Format = "gemini";

    public static IEndpointRouteBuilder MapGemini(this IEndpointRouteBuilder app)
    {
        app.MapGet("/{target}/v1beta/models", ListModelsAsync);
        // "{model}:{action}" is one path segment; a catch-all takes it whole and the handler splits at the colon.
        app.MapPost("/{target}/v1beta/models/{*modelAction}", GenerateContentAsync);
        return app;
    }

    private static Task<IResult> ListModelsAsync(string target, HttpContext context, SimulatorState state)
    {
        var hasKey = HasKey(context.Request);
        var plan = state.Admit(target, Format, "(models)", hasKey ? null : Fault.Forbidden);
        return CallPipeline.PlayAsync(context, plan, fault => hasKey ? GeminiWire.ModelList(fault, plan.RetryAfterSeconds) : GeminiWire.MissingKey());
    }

    private static async Task<IResult> GenerateContentAsync(string target, string modelAction, HttpContext context, SimulatorState state)
    {
        var colon = modelAction.LastIndexOf(':');
        var model = colon < 0 ? modelAction : modelAction[..colon];
        var action = colon < 0 ? "" : modelAction[(colon + 1)..];

        if (!HasKey(context.Request))
            return await Reject(Fault.Forbidden, GeminiWire.MissingKey());
        if (action != "generateContent")
            return await Reject(Fault.NotFound, GeminiWire.NotFound(model, action));

        var (request, error) = await ReadAsync(context);
        if (request is null)
            return await Reject(Fault.BadRequest, GeminiWire.Error(400, "INVALID_ARGUMENT", error!));

        var plan = state.Admit(target, Format, model, prompt: request.LastUserText);
        return await CallPipeline.PlayAsync(context, plan, fault => fault == Fault.Echo
            ? GeminiWire.Error(500, "INTERNAL", Echo.Of(context.Request))
            : GeminiWire.Answer(fault, target, model, request, plan.RetryAfterSeconds, plan.ReplyToMaxTokens));

        Task<IResult> Reject(Fault fault, IResult answer) =>
            CallPipeline.PlayAsync(context, state.Admit(target, Format, model, fault), _ => answer);
    }

    private static bool HasKey(HttpRequest request) =>
        !string.IsNullOrWhiteSpace(request.Headers["x-goog-api-key"]) || !string.IsNullOrWhiteSpace(request.Query["key"]);

    private static async Task<(GeminiRequest? Request, string? Error)> ReadAsync(HttpContext context)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            return TryParse(document.RootElement, out var request, out var error) ? (request, null) : (null, error);
        }
        catch (JsonException)
        {
            return (null, "Invalid JSON payload received. Unexpected token.");
        }
    }

    private static bool TryParse(JsonElement root, [NotNullWhen(true)] out GeminiRequest? request, [NotNullWhen(false)] out string? error)
    {
        request = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "Invalid JSON payload received. Expected an object.";
            return false;
        }
        if (!root.TryGetProperty("contents", out var contents) || contents.ValueKind != JsonValueKind.Array || contents.GetArrayLength() == 0)
        {
            error = "* GenerateContentRequest.contents: contents is not specified\n";
            return false;
        }

        var words = 0;
        var lastUser = "";
        var afterToolResult = false;
        foreach (var content in contents.EnumerateArray())
        {
            var role = content.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            if (role is not (null or "" or "user" or "model"))
            {
                error = "Please use a valid role: user, model.";
                return false;
            }
            var text = PartsText(content);
            words += Reply.CountWords(text);
            afterToolResult = GeminiStructured.HasFunctionResponse(content);
            // A function response is not a prompt: a tool round trip still counts under the user's question.
            if (role is not "model" && !afterToolResult)
                lastUser = text;
        }
        if (root.TryGetProperty("systemInstruction", out var system))
            words += Reply.CountWords(PartsText(system));

        int? maxOutputTokens = root.TryGetProperty("generationConfig", out var config)
            && config.ValueKind == JsonValueKind.Object
            && config.TryGetProperty("maxOutputTokens", out var max)
            && max.ValueKind == JsonValueKind.Number
            && max.TryGetInt32(out var value) ? value : null;

        request = new GeminiRequest(lastUser, words, maxOutputTokens, GeminiStructured.Read(root, afterToolResult));
        error = null;
        return true;
    }

    private static string PartsText(JsonElement content)
    {
        if (content.ValueKind != JsonValueKind.Object || !content.TryGetProperty("parts", out var parts) || parts.ValueKind != JsonValueKind.Array)
            return "";
        var text = new StringBuilder();
        foreach (var part in parts.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                text.Append(t.GetString());
        }
        return text.ToString();
    }
}
