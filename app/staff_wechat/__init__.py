"""Staff work from the official account (公众号): the webhook and its menus, binding a staff
account to a WeChat openid with a one-time code, and OAuth sign-in for the H5 console."""
