import { BadRequestException, Controller, Get, Inject, Param, Post, Query } from "@nestjs/common";
import { AccountsService } from "./accounts.service.js";

@Controller("accounts")
export class AccountsController {
  constructor(@Inject(AccountsService) private readonly accounts: AccountsService) {}

  /** `POST /accounts/acc-1/deposit?amount=5` */
  @Post(":id/deposit")
  deposit(@Param("id") id: string, @Query("amount") amount = "1") {
    const value = Number(amount);
    if (!Number.isFinite(value)) throw new BadRequestException("amount must be a number");
    return this.accounts.deposit(id, value);
  }

  @Get(":id")
  balance(@Param("id") id: string) {
    return this.accounts.balance(id);
  }
}
