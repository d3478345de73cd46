"""Sample commerce events (Stripe, Shopify, Paddle Billing), shaped like
each provider's documented payloads; ``events`` has the others and the
``Context`` every sample takes."""

from __future__ import annotations

import uuid

from .events import Context, Json

# --- Stripe -----------------------------------------------------------------


def _stripe_event(ctx: Context, kind: str, obj: Json) -> Json:
    return {
        "id": ctx.token("evt_"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": ctx.now,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": ctx.token("req_", 14), "idempotency_key": str(uuid.uuid4())},
        "type": kind,
    }


def stripe_payment_intent_succeeded(ctx: Context) -> Json:
    return _stripe_event(
        ctx,
        "payment_intent.succeeded",
        {
            "id": ctx.token("pi_"),
            "object": "payment_intent",
            "amount": 2000,
            "amount_received": 2000,
            "currency": "usd",
            "customer": None,
            "description": "(created by hookgate trigger)",
            "latest_charge": ctx.token("ch_"),
            "livemode": False,
            "metadata": {},
            "payment_method": ctx.token("pm_"),
            "payment_method_types": ["card"],
            "status": "succeeded",
            "created": ctx.now,
        },
    )


def stripe_checkout_session_completed(ctx: Context) -> Json:
    return _stripe_event(
        ctx,
        "checkout.session.completed",
        {
            "id": ctx.token("cs_test_", 58),
            "object": "checkout.session",
            "amount_subtotal": 3000,
            "amount_total": 3000,
            "currency": "usd",
            "customer": ctx.token("cus_", 14),
            "customer_details": {"email": "jenny.rosen@example.com", "name": "Jenny Rosen"},
            "livemode": False,
            "metadata": {},
            "mode": "payment",
            "payment_intent": ctx.token("pi_"),
            "payment_status": "paid",
            "status": "complete",
            "success_url": "https://example.com/success",
            "created": ctx.now,
        },
    )


def stripe_invoice_paid(ctx: Context) -> Json:
    return _stripe_event(
        ctx,
        "invoice.paid",
        {
            "id": ctx.token("in_"),
            "object": "invoice",
            "amount_due": 1500,
            "amount_paid": 1500,
            "amount_remaining": 0,
            "billing_reason": "subscription_cycle",
            "currency": "usd",
            "customer": ctx.token("cus_", 14),
            "customer_email": "jenny.rosen@example.com",
            "livemode": False,
            "number": "A1B2C3D4-0001",
            "paid": True,
            "status": "paid",
            "subscription": ctx.token("sub_"),
            "created": ctx.now,
        },
    )


# --- Shopify ----------------------------------------------------------------


def shopify_orders_create(ctx: Context) -> Json:
    order_id = 820982911946154508 + ctx.now % 1000
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "email": "jon@example.com",
        "created_at": ctx.iso(),
        "currency": "USD",
        "financial_status": "paid",
        "name": "#9999",
        "order_number": 1234,
        "total_price": "403.00",
        "subtotal_price": "393.00",
        "total_tax": "0.00",
        "customer": {"id": 115310627314723954, "email": "john@example.com", "first_name": "John"},
        "line_items": [
            {
                "id": 866550311766439020,
                "title": "Aviator sunglasses",
                "quantity": 1,
                "price": "89.99",
                "sku": "SKU2006-001",
            },
            {
                "id": 141249953214522974,
                "title": "Mid-century lounger",
                "quantity": 1,
                "price": "159.99",
                "sku": "SKU2006-020",
            },
        ],
        "test": True,
    }


# --- Paddle Billing ---------------------------------------------------------


def _paddle_event(ctx: Context, kind: str, data: Json) -> Json:
    return {
        "event_id": ctx.token("evt_", 26).lower(),
        "event_type": kind,
        "occurred_at": ctx.iso(),
        "notification_id": ctx.token("ntf_", 26).lower(),
        "data": data,
    }


def paddle_transaction_completed(ctx: Context) -> Json:
    return _paddle_event(
        ctx,
        "transaction.completed",
        {
            "id": ctx.token("txn_", 26).lower(),
            "status": "completed",
            "customer_id": ctx.token("ctm_", 26).lower(),
            "currency_code": "USD",
            "origin": "web",
            "collection_mode": "automatic",
            "items": [{"price": {"id": "pri_01gsz8x8sawmvhz1pv30nge1ke"}, "quantity": 10}],
            "details": {"totals": {"subtotal": "30000", "tax": "0", "total": "30000"}},
            "created_at": ctx.iso(),
            "billed_at": ctx.iso(),
        },
    )


def paddle_subscription_created(ctx: Context) -> Json:
    return _paddle_event(
        ctx,
        "subscription.created",
        {
            "id": ctx.token("sub_", 26).lower(),
            "status": "active",
            "customer_id": ctx.token("ctm_", 26).lower(),
            "currency_code": "USD",
            "billing_cycle": {"interval": "month", "frequency": 1},
            "items": [{"price": {"id": "pri_01gsz8x8sawmvhz1pv30nge1ke"}, "quantity": 10}],
            "created_at": ctx.iso(),
            "started_at": ctx.iso(),
        },
    )
