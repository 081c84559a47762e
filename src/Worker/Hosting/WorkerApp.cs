using Microsoft.Extensions.Options;
using Worker.Audit;
using Worker.Budgets;
using Worker.Chain;
using Worker.DeadLetters;
using Worker.Health;
using Worker.LastResort;
using Worker.Messaging;
using Worker.Metrics;
using Worker.Ops;
using Worker.OpsConsole;
using Worker.Persistence;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Requests;
using Worker.Retention;
using Worker.Routing;
using Worker.Telemetry;
using Worker.Tenants;

namespace Worker.Hosting;

/// <summary>Builds the worker host. Program.cs runs it; integration tests build the same host with overrides.</summary>
public static class WorkerApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // appsettings.json sits beside the binary; the worker may be started from any directory.
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = typeof(WorkerApp).Assembly.GetName().Name,
        });
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        configure?.Invoke(builder);

        // The features, one line each; each folder under src/Worker holds one and its AddX.
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddPersistence(builder.Configuration);   // Persistence/: PostgreSQL pool, EF context, write gate and retry
        builder.Services.AddProviders();                          // Providers/: Gemini, OpenAI and compatible clients, error classes
        builder.Services.AddProviderHealth();                     // ProviderHealth/: pings, breakers, pacing, alerts
        builder.Services.AddBudgets();                            // Budgets/: per-tenant daily budgets, counted once in PostgreSQL
        builder.Services.AddTenantLimits();                       // Tenants/: per-tenant concurrency limits (TenantLimits)
        builder.Services.AddChains();                             // Chain/: the retry and fallback chain
        builder.Services.AddRequestRouting();                            // Routing/: which chain and order each request runs
        builder.Services.AddLastResort();                         // LastResort/: the response cache and template answers
        builder.Services.AddMessaging(builder.Configuration);     // Messaging/: bus, request endpoint, validation, results
        builder.Services.AddRequests();                           // Requests/: claim, lease, defer, complete; group commits
        builder.Services.AddAudit(builder.Configuration);         // Audit/: what rows keep (prompt storage, text cleaning), prices
        builder.Services.AddWorkerMetrics();                      // Metrics/: the worker's meter
        builder.Services.AddWorkerHealth();                       // Health/: liveness and readiness
        builder.Services.AddOpsApi(builder.Configuration);        // Ops/: the ops HTTP API
        builder.Services.AddOpsConsole();                         // OpsConsole/: GET /status, /metrics/series and the page at /console/
        builder.Services.AddRetention();                          // Retention/: sweeps old rows
        builder.Services.AddDeadLetters(builder.Configuration);   // DeadLetters/: parking, the error queue, replays
        builder.Services.AddWorkerTelemetry(builder.Configuration); // Telemetry/: OTLP traces and metrics, off without OTEL_EXPORTER_OTLP_ENDPOINT

        var app = builder.Build();
        // Every options section is validated before anything reads one (mapping the health checks creates the bus), so
        // bad configuration is reported once, in full, and before anything connects.
        app.Services.GetService<IStartupValidator>()?.Validate();
        app.MapWorkerHealth();
        app.MapOpsApi();
        app.MapDeadLetters();
        app.MapOpsConsole();
        return app;
    }
}
